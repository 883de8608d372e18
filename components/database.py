"""Airflow's metadata database: RDS for PostgreSQL, private, encrypted, TLS-only.

Owns the instance, its subnet group, parameter group, security group and the one ingress
rule, the generated master password, and the CloudWatch log groups of its log exports. It
does not own the Kubernetes Secret that hands the connection to Airflow (the Airflow release
builds it from these outputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from airflow_eks import physical_names, rds
from airflow_eks.config import DatabaseSettings
from components.log_groups import service_log_group


@dataclass
class DatabaseArgs:
    settings: DatabaseSettings
    protect_data: bool
    """Deletion protection and Pulumi `protect`: a destroy stops before the instance."""
    keep_data_on_destroy: bool
    """When the instance is deleted after all: a final snapshot, automated backups and the log
    groups stay. False: nothing is left behind."""
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets, one per AZ, for the DB subnet group."""
    client_security_group_id: pulumi.Input[str]
    """The only security group allowed to connect (the EKS cluster security group)."""
    project: str
    stack: str
    """Project and stack name the instance identifier starts with."""
    log_retention_days: int
    """Days the exported database logs are kept (rounded up to a retention CloudWatch accepts)."""
    restore_snapshot: str = ""
    """'' for a new, empty database, or the DB snapshot identifier or ARN it is created from
    (dbRestoreSnapshotId, checked against RDS by config.load); read only at create."""


class Database(pulumi.ComponentResource):
    address: pulumi.Output[str]
    """Host name; resolves only once the client ingress rule exists."""
    port: pulumi.Output[int]
    db_name: str
    username: str
    password: pulumi.Output[str]
    """Master password (secret)."""
    instance_identifier: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:database:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        db = args.settings

        # Letters and digits only: the password goes into a postgresql:// URI unencoded, and
        # RDS forbids / @ " and space anyway. 32 alphanumerics are ~190 bits.
        password = random.RandomPassword(
            f"{name}-db-password", length=32, special=False, min_lower=1, min_upper=1, min_numeric=1, opts=child,
        )
        security_group = aws.ec2.SecurityGroup(
            f"{name}-db-sg",
            vpc_id=args.vpc_id,
            description="Airflow metadata database: PostgreSQL from the EKS cluster only",
            # No egress rules: the provider removes AWS's default allow-all egress, and
            # RDS answers clients over the stateful ingress connection.
            opts=child,
        )
        # A separate rule, not an inline one: the instance then waits only for its own
        # security group, and RDS (the slowest resource) is created in parallel with EKS.
        ingress = aws.vpc.SecurityGroupIngressRule(
            f"{name}-db-from-cluster",
            security_group_id=security_group.id,
            referenced_security_group_id=args.client_security_group_id,
            ip_protocol="tcp",
            from_port=rds.PORT,
            to_port=rds.PORT,
            description="PostgreSQL from EKS nodes and pods (cluster security group)",
            opts=child,
        )
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-db-subnets", subnet_ids=list(args.subnet_ids),
            description="Private subnets of the Airflow metadata database", opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-db-params",
            family=rds.parameter_group_family(db.engine_major),
            description="Airflow metadata database: TLS required",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=p.name, value=p.value, apply_method=p.apply_method)
                        for p in rds.PARAMETERS],
            opts=child,
        )

        protect, keep = args.protect_data, args.keep_data_on_destroy
        # The identifier is fixed so the log groups of the exports exist before RDS writes to
        # them; physical_names explains the random suffix.
        suffix = random.RandomId(f"{name}-db-name-suffix", byte_length=physical_names.SUFFIX_BYTES, opts=child)
        identifier = suffix.hex.apply(lambda h: rds.instance_identifier(args.project, args.stack, h))
        log_groups = [
            service_log_group(
                f"{name}-db-{export}-logs", identifier.apply(lambda i, e=export: rds.log_group_name(i, e)),
                retention_days=args.log_retention_days, keep_on_destroy=keep, opts=child,
            )
            for export in rds.LOG_EXPORTS
        ]

        # RDS honours these three only from the stack's state at delete time, so they hold in
        # every state of the stack, not just while `protectData` makes deletion impossible:
        # the documented teardown (protectData false, `pulumi up`, destroy) keeps the data.
        final_snapshot = identifier.apply(rds.final_snapshot_identifier) if keep else None
        # A restore takes the master user and database name from the snapshot (RDS ignores them
        # on RestoreDBInstanceFromDBSnapshot, and the provider's username is ForceNew: one that
        # differed from the snapshot's would replace the restored database at the next `up`).
        # The password is applied: the provider sets it with a ModifyDBInstance right after the
        # restore (terraform-provider-aws, aws_db_instance create from snapshot_identifier).
        restoring = bool(args.restore_snapshot)

        instance = aws.rds.Instance(
            f"{name}-db",
            identifier=identifier,
            engine=rds.ENGINE,
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            db_name=None if restoring else rds.DB_NAME,
            username=None if restoring else rds.USERNAME,
            password=password.result,
            snapshot_identifier=args.restore_snapshot or None,
            port=rds.PORT,
            storage_type="gp3",
            allocated_storage=db.allocated_storage_gb,
            max_allocated_storage=rds.storage_autoscaling_ceiling(db.allocated_storage_gb,
                                                                 db.max_allocated_storage_gb),
            # The AWS managed key (aws/rds): no key policy to run and no monthly key charge.
            # A customer managed key only pays off for cross-account snapshot copies.
            storage_encrypted=True,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            publicly_accessible=False,
            parameter_group_name=parameters.name,
            multi_az=db.multi_az,
            backup_retention_period=db.backup_retention_days,
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            # Changing dbEngineVersion to a new major is the supported upgrade path; the
            # parameter group is replaced along with it (new family).
            allow_major_version_upgrade=True,
            performance_insights_enabled=True,
            performance_insights_retention_period=rds.PERFORMANCE_INSIGHTS_RETENTION_DAYS,
            enabled_cloudwatch_logs_exports=list(rds.LOG_EXPORTS),
            deletion_protection=protect,
            skip_final_snapshot=not keep,
            final_snapshot_identifier=final_snapshot,
            # AWS's default deletes them with the instance; kept, they are restorable to any
            # point in their window until dbBackupRetentionDays runs out.
            delete_automated_backups=not keep,
            # Protected stacks change in the maintenance window; disposable ones right away.
            apply_immediately=not protect,
            # With a fixed identifier a replacement cannot create the new instance beside the
            # old one: delete first. A protected instance is never deleted, so a change that
            # would replace it fails instead.
            # The restore source, master user and database name are facts of the create, all
            # ForceNew: ignored afterwards, so setting, changing or removing dbRestoreSnapshotId
            # on a stack whose database exists never replaces it (the engine keeps the values of
            # the stack's state; docs/operations/restore.md restores into an existing stack).
            opts=child.merge(pulumi.ResourceOptions(protect=protect, delete_before_replace=True,
                                                    depends_on=log_groups,
                                                    ignore_changes=list(rds.CREATE_ONLY_INPUTS))),
        )

        # Clients can connect only once the ingress rule exists: tying the address to it makes
        # every consumer of the address (the Airflow release) wait for both.
        self.address = pulumi.Output.all(instance.address, ingress.id).apply(lambda v: v[0])
        self.port = instance.port
        self.db_name = rds.DB_NAME
        self.username = rds.USERNAME
        self.password = pulumi.Output.secret(password.result)
        self.instance_identifier = instance.identifier
        self.security_group_id = security_group.id
        self.register_outputs({
            "address": self.address, "port": self.port, "db_name": self.db_name, "username": self.username,
            "password": self.password, "instance_identifier": self.instance_identifier,
            "security_group_id": self.security_group_id,
        })
