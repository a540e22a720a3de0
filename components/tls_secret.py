"""Kubernetes Secrets in the format the Percona operator reads for its TLS files."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

SECRET_TYPE = "kubernetes.io/tls"


def tls_secret(
    resource_name: str,
    *,
    secret_name: str,
    namespace: str,
    ca_bundle_pem: pulumi.Input[str],
    cert_pem: pulumi.Input[str],
    key_pem: pulumi.Input[str],
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """Create a `kubernetes.io/tls` Secret with the keys ca.crt, tls.crt and tls.key.

    The Secret has no owner reference to the PerconaServerMongoDB resource, so the operator
    counts it as user-provided and never replaces or deletes it. The whole `stringData` is a
    Pulumi secret, so the private key is encrypted in state and masked in previews.
    """
    return k8s.core.v1.Secret(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=namespace, labels=labels),
        type=SECRET_TYPE,
        string_data=pulumi.Output.secret(
            {"ca.crt": ca_bundle_pem, "tls.crt": cert_pem, "tls.key": key_pem}
        ),
        opts=opts,
    )
