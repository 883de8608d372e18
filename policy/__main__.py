"""Entry point the Pulumi CLI runs; constructing the PolicyPack serves it (and blocks), so tests never import this."""
from policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="airflow-eks", policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
