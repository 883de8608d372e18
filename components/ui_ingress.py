"""UiIngress: the HTTPS name of the Airflow UI: certificate, Ingress (hence the ALB) and DNS.

With `uiHostedZoneId`: an ACM certificate for `uiHostname`, validated through the Route 53
record this component creates (and waited for), and the alias record of `uiHostname` to the
ALB. With `uiCertificateArn`: that certificate, and no DNS change (docs/ui-and-sso.md says which
record to create; the stack exports the ALB's host name).

Why an Ingress of the program's and not the chart's `ingress.apiServer`: (1) the DNS record
needs the ALB's host name, which is the Ingress's status; as a resource of its own, Pulumi
waits for that status and hands it to the record, while an Ingress inside the Helm release
is invisible to the program; (2) teardown: this Ingress depends on the controller's release,
so `pulumi destroy` deletes it (and waits until the controller has deleted the ALB, its target
groups and security groups and dropped the Ingress's finalizer) before the controller; with
the chart's Ingress the whole Airflow release would have to depend on the controller to get
that order, and the DNS record, which must go before the ALB, could not depend on the Ingress
at all. The Airflow release must exist first (the Ingress routes to its Service).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from airflow_eks import names, ui_ingress
from airflow_eks.ui_config import UiSettings

DNS_TTL_SECONDS = 60


@dataclass
class UiIngressArgs:
    ui: UiSettings
    region: str
    namespace: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource]
    """The controller's release (it must outlive the Ingress) and the Airflow release."""


class UiIngress(pulumi.ComponentResource):
    certificate_arn: pulumi.Output[str]
    load_balancer_hostname: pulumi.Output[str]
    """The ALB's DNS name (point a CNAME or alias at it when the program does not manage DNS)."""
    ingress: k8s.networking.v1.Ingress

    def __init__(self, name: str, args: UiIngressArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:ui:UiIngress", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ui = args.ui

        if ui.hosted_zone_id:
            # Replaced create-before-delete (Pulumi's default): ACM refuses to delete a certificate
            # while the ALB listener still uses it.
            certificate = aws.acm.Certificate(
                f"{name}-certificate", domain_name=ui.hostname, validation_method="DNS", opts=child)
            # One name, no SANs: exactly one validation record.
            option = certificate.domain_validation_options[0]
            record = aws.route53.Record(
                f"{name}-certificate-validation-record",
                zone_id=ui.hosted_zone_id, name=option.resource_record_name, type=option.resource_record_type,
                records=[option.resource_record_value], ttl=DNS_TTL_SECONDS,
                # ACM reuses the record for renewals and for a re-created certificate of the same name.
                allow_overwrite=True, opts=child)
            validation = aws.acm.CertificateValidation(
                f"{name}-certificate-validation", certificate_arn=certificate.arn,
                validation_record_fqdns=[record.fqdn], opts=child)
            # The validated ARN: the listener never gets a certificate ACM has not issued yet.
            self.certificate_arn = validation.certificate_arn
        else:
            self.certificate_arn = pulumi.Output.from_input(ui.certificate_arn)

        self.ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                # Fixed: the troubleshooting commands (docs/troubleshooting.md) name it.
                name=f"{names.AIRFLOW_RELEASE}-ui", namespace=args.namespace,
                annotations=self.certificate_arn.apply(ui_ingress.annotations)),
            spec=ui_ingress.ingress_spec(ui.hostname),
            opts=child.merge(pulumi.ResourceOptions(depends_on=list(args.depends_on))),
        )
        # Pulumi waits for the Ingress to report its load balancer, so this is the live ALB.
        self.load_balancer_hostname = self.ingress.status.apply(
            lambda s: s.load_balancer.ingress[0].hostname if s and s.load_balancer and s.load_balancer.ingress else "")

        if ui.hosted_zone_id:
            alb_zone = aws.lb.get_hosted_zone_id_output(load_balancer_type="application", region=args.region,
                                                        opts=pulumi.InvokeOutputOptions(parent=self))
            aws.route53.Record(
                f"{name}-dns", zone_id=ui.hosted_zone_id, name=ui.hostname, type="A",
                aliases=[aws.route53.RecordAliasArgs(name=self.load_balancer_hostname, zone_id=alb_zone.id,
                                                     evaluate_target_health=True)],
                opts=child)
        self.register_outputs({"certificate_arn": self.certificate_arn,
                               "load_balancer_hostname": self.load_balancer_hostname})
