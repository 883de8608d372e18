"""RDS rules: encryption, network exposure, backups, Multi-AZ, deletion protection, what a delete keeps
and forced TLS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import Resource, rule
from .constants import RDS_INSTANCE, RDS_PARAMETER_GROUP
from .helpers import _items, _map, _number, _of_type, _references


@rule("rds-storage-encrypted", "RDS instances encrypt their storage at rest.", types=[RDS_INSTANCE])
def rds_storage_encrypted(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("storageEncrypted") is True:
        return []
    return ["storageEncrypted must be true: encryption at rest cannot be switched on later "
            "without a snapshot restore."]


@rule("rds-not-public", "RDS instances are reachable only inside the VPC.", types=[RDS_INSTANCE])
def rds_not_public(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("publiclyAccessible") is True:
        return ["publiclyAccessible must be false: the metadata database holds every connection secret."]
    return []


@rule("rds-backup-retention", "RDS automated backups are kept for at least minDays days.",
      types=[RDS_INSTANCE],
      config={"minDays": {"type": "integer", "minimum": 1, "default": 7,
                          "description": "Fewest days of automated backups."}})
def rds_backup_retention(_typ: str, props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    days = _number(props.get("backupRetentionPeriod"))
    if days is not None and days >= cfg["minDays"]:
        return []
    shown = "unset" if days is None else int(days)
    return [f"backupRetentionPeriod is {shown}; keep automated backups for at least {cfg['minDays']} day(s)."]


@rule("rds-multi-az", "RDS instances run with a Multi-AZ standby (prod; relaxed for dev).", types=[RDS_INSTANCE])
def rds_multi_az(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("multiAz") is True:
        return []
    return ["multiAz must be true: a single-AZ metadata database stops every Airflow component "
            "during an AZ outage or maintenance."]


@rule("rds-deletion-protection", "RDS instances have deletion protection (prod; relaxed for dev).",
      types=[RDS_INSTANCE])
def rds_deletion_protection(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("deletionProtection") is True:
        return []
    return ["deletionProtection must be true (set protectData), so a stray destroy cannot drop the database."]


@rule("rds-final-snapshot", "Deleting an RDS instance takes a final snapshot and keeps its automated backups "
      "(prod; relaxed for dev).", types=[RDS_INSTANCE])
def rds_final_snapshot(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    # The snapshot's name is computed (unknown in a first preview): the two flags decide.
    found = []
    if props.get("skipFinalSnapshot") is not False:
        found.append("skipFinalSnapshot must be false (set keepDataOnDestroy), so a destroy leaves a final snapshot.")
    if props.get("deleteAutomatedBackups") is not False:
        found.append("deleteAutomatedBackups must be false (set keepDataOnDestroy); AWS's default deletes the "
                     "automated backups with the instance.")
    return found


def _forces_ssl(group: Resource) -> bool:
    return any(str(_map(p).get("name")) == "rds.force_ssl" and str(_map(p).get("value")) == "1"
               for p in _items(group.props.get("parameters")))


@rule("rds-force-ssl", "RDS instances use a parameter group of this stack with rds.force_ssl=1 (TLS only).")
def rds_force_ssl(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    groups = _of_type(resources, RDS_PARAMETER_GROUP)
    found = []
    for instance in _of_type(resources, RDS_INSTANCE):
        mine = [g for g in groups if _references(instance, "parameterGroupName", g, ("name",))]
        if not mine:
            found.append(("parameterGroupName does not name a parameter group of this stack, so nothing "
                          "here forces TLS; use one with rds.force_ssl=1.", instance.urn))
        elif not any(_forces_ssl(g) for g in mine):
            found.append(("its parameter group must set rds.force_ssl=1: clients send the master "
                          "password over this connection.", instance.urn))
    return found
