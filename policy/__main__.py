"""Policy pack entry point, which the Pulumi CLI runs for `--policy-pack policy`.

The CLI runs this file with the policy folder first on sys.path, so the package beside it
imports by its plain name. PolicyPack serves the policies over gRPC until the CLI stops it.
"""

from psmdb_tls_policy import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.ADVISORY)
