"""Certificate lifecycle settings and the checks that need the previous deployment.

Leaf rotation on demand (`tls.rotation.certificates`), CA rotation in three phases
(`tls.caRotation`) and changes into or out of mode `disabled` are only safe as sequences of
`pulumi up` runs. The program reads the outputs of its own previous deployment to tell which
step the cluster is at, and rejects a config that skips a step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from components.config_reader import ConfigError, Section

CA_ROTATION_PHASES = ("trustBoth", "newLeaves", "complete")
CA_ROTATION_KEY = "psmdb-tls:tls.caRotation"
MODE_KEY = "psmdb-tls:tls.mode"


@dataclass(frozen=True)
class CaRotationConfig:
    """The CA generation in use and the phase its rotation has reached.

    Generation 1 is the first CA. Generation G (2 or more) replaces G - 1 in three phases. In
    `trustBoth` the new CA is created and both CA bundles contain the new CA, then the old one,
    while the leaves stay. In `newLeaves` the leaves are re-signed by the new CA. In
    `complete` the old CA leaves every bundle and is deleted.
    """

    generation: int
    phase: str

    @property
    def rotating(self) -> bool:
        return self.phase != "complete"

    @property
    def signing_generation(self) -> int:
        """The generation of the CA that signs the member certificates in this phase."""
        return self.generation - 1 if self.phase == "trustBoth" else self.generation

    @property
    def trusted_generations(self) -> tuple[int, ...]:
        """CA generations in the CA bundle, newest first.

        NOTE: a comment in the operator's source (ssl.go, v1.22.0) states that mongos accepts
        only the first CA of a bundle. If so, a mongos restarted in trustBoth trusts only the new CA while members
        still present leaves of the old one. OpenSSL in the tests accepts either CA, so this
        was not verified.
        """
        if self.rotating:
            return (self.generation, self.generation - 1)
        return (self.generation,)


@dataclass(frozen=True)
class RotationConfig:
    """Counters whose change re-issues certificates on demand."""

    # Changing it replaces both member keys and certificates; the CA stays.
    certificates: int


def parse_rotation(section: Section) -> RotationConfig:
    certificates = section.integer("certificates", 0, minimum=0)
    section.finish()
    return RotationConfig(certificates=certificates)


def parse_ca_rotation(section: Section) -> CaRotationConfig:
    generation = section.integer("generation", 1, minimum=1)
    phase = section.string("phase", "complete", CA_ROTATION_PHASES)
    if generation == 1 and phase != "complete":
        raise ConfigError(
            section.path("phase"),
            phase,
            "Generation 1 is the first CA and has no predecessor to rotate from: set generation "
            "to 2 with phase trustBoth to start a CA rotation.",
        )
    section.finish()
    return CaRotationConfig(generation=generation, phase=phase)


@dataclass(frozen=True)
class CaSettings:
    """Settings a deployed CA generation was made with; changing them would replace that CA."""

    key_algorithm: str
    validity_hours: int


@dataclass(frozen=True)
class PreviousDeployment:
    """Settings the previous `pulumi up` of this stack applied, read from its stack outputs."""

    tls_mode: str | None
    paused: bool
    ca_rotation: CaRotationConfig | None
    # Certificate name (ca, ssl, sslInternal) -> expiry time, from the certificateNotAfter output.
    not_after: Mapping[str, datetime] = field(default_factory=dict)
    cluster_name: str | None = None
    namespace: str | None = None
    organization: str | None = None
    # CA generation -> settings, for every Pulumi-made CA that exists.
    ca_settings: Mapping[int, CaSettings] = field(default_factory=dict)
    certificate_source: str | None = None
    # The tls.certManager.issuer way (selfSigned, pulumiCa, existing) for source cert-manager.
    cert_manager_issuer: str | None = None

    @staticmethod
    def from_outputs(outputs: Mapping[str, Any]) -> PreviousDeployment | None:
        """Build from the stack outputs of the previous deployment, or None for a new stack."""
        if not outputs or "tlsMode" not in outputs:
            return None
        rotation = outputs.get("caRotation")
        ca_rotation = None
        if isinstance(rotation, Mapping):
            ca_rotation = CaRotationConfig(
                generation=int(rotation.get("generation", 1)),
                phase=str(rotation.get("phase", "complete")),
            )
        elif outputs.get("caCertificatePem"):
            # A deployment with a CA but no rotation output has only ever had generation 1.
            ca_rotation = CaRotationConfig(generation=1, phase="complete")
        not_after = {}
        for name, value in (outputs.get("certificateNotAfter") or {}).items():
            try:
                not_after[name] = datetime.fromisoformat(str(value))
            except ValueError:
                continue
        ca_settings = {
            int(generation): CaSettings(
                key_algorithm=str(values["keyAlgorithm"]),
                validity_hours=int(values["validityHours"]),
            )
            for generation, values in (outputs.get("caSettings") or {}).items()
        }
        return PreviousDeployment(
            tls_mode=outputs.get("tlsMode"),
            paused=bool(outputs.get("paused", False)),
            ca_rotation=ca_rotation,
            not_after=not_after,
            cluster_name=outputs.get("clusterName"),
            namespace=outputs.get("namespace"),
            organization=outputs.get("organization"),
            ca_settings=ca_settings,
            certificate_source=outputs.get("certificateSource"),
            cert_manager_issuer=outputs.get("certManagerIssuerType"),
        )


def _describe(rotation: CaRotationConfig) -> str:
    return f"generation {rotation.generation} phase {rotation.phase}"


def next_ca_rotation_steps(previous: CaRotationConfig) -> list[CaRotationConfig]:
    """Return the configs allowed after `previous`: itself, or the next step of a rotation."""
    if previous.phase == "trustBoth":
        following = CaRotationConfig(previous.generation, "newLeaves")
    elif previous.phase == "newLeaves":
        following = CaRotationConfig(previous.generation, "complete")
    else:
        following = CaRotationConfig(previous.generation + 1, "trustBoth")
    return [previous, following]


def check_ca_rotation(current: CaRotationConfig, previous: PreviousDeployment | None) -> None:
    """Reject a CA rotation step that does not follow the one the previous deployment applied."""
    if previous is None or previous.ca_rotation is None:
        return
    allowed = next_ca_rotation_steps(previous.ca_rotation)
    if current in allowed:
        return
    raise ConfigError(
        CA_ROTATION_KEY,
        {"generation": current.generation, "phase": current.phase},
        f"The previous deployment applied {_describe(previous.ca_rotation)}, so the next run "
        f"may apply {_describe(allowed[0])} again or {_describe(allowed[1])}. A CA rotation is "
        "three runs of pulumi up, one phase each, in this order: trustBoth, newLeaves, complete; "
        "raise generation by one with phase trustBoth to start the next rotation.",
    )


MODE_CHANGE_STEPS = (
    "1. set psmdb-tls:cluster.pause to true and deploy it, then wait until the cluster reports "
    "state paused; 2. change psmdb-tls:tls.mode and deploy it; 3. set psmdb-tls:cluster.pause "
    "to false and deploy it. Deploy each step on its own, with pulumi up or by merging the "
    "stack file for CI to deploy."
)


def check_mode_change(mode: str, paused: bool, previous: PreviousDeployment | None) -> list[str]:
    """Reject an unsafe switch between `disabled` and a TLS mode; return warnings for others.

    Between `disabled` and any TLS mode the operator would talk to mongod in the new mode while
    mongod still runs the old one. So the switch needs a cluster that was already paused in the
    previous deployment and stays paused in this one.
    """
    if previous is None or previous.tls_mode is None or previous.tls_mode == mode:
        return []
    crosses_disabled = (previous.tls_mode == "disabled") != (mode == "disabled")
    if crosses_disabled and not (previous.paused and paused):
        raise ConfigError(
            MODE_KEY,
            mode,
            f"Switching from {previous.tls_mode} to {mode} on a running cluster needs it "
            f"paused around the change. Steps: {MODE_CHANGE_STEPS}",
        )
    warnings = []
    if "allowTLS" in (previous.tls_mode, mode) and "disabled" not in (previous.tls_mode, mode):
        warnings.append(
            f"tls.mode changes from {previous.tls_mode} to {mode}: member authentication switches "
            "between keyFile (allowTLS) and x509 in the same rolling restart, so members on "
            "different settings may fail to authenticate each other until the restart finishes. "
            "Setting spec.secrets.keyFile through psmdb-tls:cluster.spec keeps keyFile "
            "authentication in every mode."
        )
    return warnings


def expiry_warnings(
    previous: PreviousDeployment | None, now: datetime, cert_validity_hours: int
) -> list[str]:
    """Return warnings for certificates of the previous deployment that expired or soon will.

    A member certificate past its expiry means the provider's early renewal did not replace it.
    A CA that expires before a member certificate issued now would is due for rotation, because
    members stop trusting each other once the CA expires.
    """
    if previous is None:
        return []
    warnings = []
    for name in ("ssl", "sslInternal"):
        expiry = previous.not_after.get(name)
        if expiry is not None and expiry <= now:
            warnings.append(
                f"The {name} member certificate expired at {expiry.isoformat()}. If the preview "
                "does not replace it, raise psmdb-tls:tls.rotation.certificates by one to "
                "re-issue both member certificates."
            )
    ca_expiry = previous.not_after.get("ca")
    if ca_expiry is not None and ca_expiry <= now + timedelta(hours=cert_validity_hours):
        warnings.append(
            f"The CA expires at {ca_expiry.isoformat()}, before member certificates issued now "
            "would. Rotate it: raise psmdb-tls:tls.caRotation.generation by one with phase "
            "trustBoth, then apply newLeaves and complete in later runs."
        )
    return warnings
