"""The Kubernetes Pod Security Standards' `baseline` and `restricted` profiles as Pod Security
Admission applies them to a pod spec: the rules of kubernetes.io/docs/concepts/security/
pod-security-standards/ (policy version `latest`, i.e. v1.25 and later), each control as its
table states it. Linux pods only (the Windows and HostProcess controls never apply here).

Used by the tests to check that every pod the stack renders into Airflow's namespace is admitted
under the profile the namespace enforces (pod_security.pod_security_admission_labels).
"""

from __future__ import annotations

from collections.abc import Iterator

# Baseline, "Capabilities": what a container may add beyond the runtime's defaults.
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
# Baseline, "Sysctls": the safe set.
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes"})
# Restricted, "Volume Types": the only volume sources allowed.
RESTRICTED_VOLUME_SOURCES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"})
SECCOMP_ALLOWED = frozenset({"RuntimeDefault", "Localhost"})
PROFILES = ("privileged", "baseline", "restricted")


def _containers(spec: dict) -> Iterator[dict]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def baseline_violations(spec: dict) -> list[str]:
    found = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            found.append(f"{field}")
    pod_context = spec.get("securityContext") or {}
    if (pod_context.get("seccompProfile") or {}).get("type") == "Unconfined":
        found.append("pod seccompProfile Unconfined")
    for sysctl in pod_context.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(f"sysctl {sysctl.get('name')}")
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            found.append(f"hostPath volume {volume['name']}")
    for c in _containers(spec):
        context = c.get("securityContext") or {}
        name = c["name"]
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        added = set((context.get("capabilities") or {}).get("add") or [])
        if added - BASELINE_CAPABILITIES:
            found.append(f"{name}: adds {sorted(added - BASELINE_CAPABILITIES)}")
        if any(p.get("hostPort") for p in c.get("ports") or []):
            found.append(f"{name}: hostPort")
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            found.append(f"{name}: seccompProfile Unconfined")
        if context.get("procMount") not in (None, "Default"):
            found.append(f"{name}: procMount")
        selinux = context.get("seLinuxOptions") or {}
        if selinux.get("user") or selinux.get("role"):
            found.append(f"{name}: seLinuxOptions user/role")
    return found


def restricted_violations(spec: dict) -> list[str]:
    found = baseline_violations(spec)
    for volume in spec.get("volumes") or []:
        sources = set(volume) - {"name"}
        if not sources <= RESTRICTED_VOLUME_SOURCES:
            found.append(f"volume {volume['name']} of type {sorted(sources)}")
    pod_context = spec.get("securityContext") or {}
    pod_non_root = pod_context.get("runAsNonRoot") is True
    pod_seccomp = (pod_context.get("seccompProfile") or {}).get("type")
    if pod_context.get("runAsUser") == 0:
        found.append("pod runAsUser 0")
    for c in _containers(spec):
        context = c.get("securityContext") or {}
        name = c["name"]
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation not false")
        non_root = context.get("runAsNonRoot")
        if non_root is False or (non_root is None and not pod_non_root):
            found.append(f"{name}: runAsNonRoot not true")
        if context.get("runAsUser") == 0:
            found.append(f"{name}: runAsUser 0")
        seccomp = (context.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in SECCOMP_ALLOWED:
            found.append(f"{name}: seccompProfile {seccomp}")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.append(f"{name}: does not drop ALL capabilities")
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: adds capabilities beyond NET_BIND_SERVICE")
    return found


def violations(spec: dict, profile: str) -> list[str]:
    """What keeps Pod Security Admission from admitting a pod with `spec` under `profile`."""
    return {"privileged": lambda _: [], "baseline": baseline_violations,
            "restricted": restricted_violations}[profile](spec)
