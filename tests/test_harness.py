"""The mock engine records what the real engine would see: inputs, secrets, parents,
dependencies and the pulumi-eks component outputs that program code reads."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_random as random

from airflow_eks.offline import harness, mocks


def test_eks_cluster_outputs_are_modelled_and_flow_into_dependents():
    def build():
        cluster = eks.Cluster("c", skip_default_node_group=True, authentication_mode=eks.AuthenticationMode.API)
        aws.eks.Addon("addon", cluster_name=cluster.eks_cluster.name, addon_name="coredns")
        ng = eks.ManagedNodeGroup("ng", cluster=cluster, node_role_arn="arn:aws:iam::1:role/r",
                                  capacity_type="SPOT", instance_types=["m5.large"])
        return cluster, ng

    run = harness.run(build)
    addon = run.one("aws:eks/addon:Addon")
    assert addon.inputs["clusterName"] == "c-eksCluster-1234567"
    assert run.one("eks:index:ManagedNodeGroup").inputs["capacityType"] == "SPOT"
    assert run.depends_on(addon, run.one("eks:index:Cluster"))


def test_secret_inputs_keep_their_marker_and_parents_and_depends_on_are_recorded():
    class Box(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("test:x:Box", name)
            pw = random.RandomPassword("pw", length=20, opts=pulumi.ResourceOptions(parent=self))
            first = aws.ssm.Parameter("first", type="String", value="x", opts=pulumi.ResourceOptions(parent=self))
            aws.ssm.Parameter("p", type="SecureString", value=pw.result,
                              opts=pulumi.ResourceOptions(parent=self, depends_on=[first]))
            self.register_outputs({})

    run = harness.run(lambda: Box("box"))
    param = run.one("aws:ssm/parameter:Parameter", name="p")
    assert mocks.secret_paths(param.inputs) == ["value"]
    assert len(param.plain_inputs["value"]) == 20
    assert param.parent == run.one("test:x:Box").urn
    assert run.depends_on(param, run.one("aws:ssm/parameter:Parameter", name="first"))
    assert run.depends_on(param, run.one("random:index/randomPassword:RandomPassword"))
    assert not run.depends_on(run.one("aws:ssm/parameter:Parameter", name="first"), param)


def test_exports_are_resolved_with_their_secretness():
    def build():
        pulumi.export("plain", "a")
        pulumi.export("hidden", pulumi.Output.secret("b"))

    run = harness.run(build)
    assert run.outputs == {"plain": ("a", False), "hidden": ("b", True)}
