"""docs/errors.md, generated from the one error catalogue (``rcs docs errors``)."""

from __future__ import annotations

from rcs_runtime.errors import CATALOGUE


def render() -> str:
    lines = [
        "# Errors",
        "",
        "Generated from `rcs_runtime/errors.py` by `rcs docs errors > docs/errors.md`;"
        " a test fails when this file is stale.",
        "",
        "Every refusal has one `reason`; each protocol shows it its own way. REST bodies are"
        ' `{"error": {"code": <REST code>, "description": "…"}, "extendedDescription": "…"}`.',
        "",
        "HTTP API v5 answers its own code (`HTTP v5`): as the HTTP status in text mode, in"
        " `<code>` with `output=xml`. REST_BATCH v3 names a refused message's field with"
        " Rapporto's keys (`invalid`, `not.available`, `length.too.long`, `forbidden`, …):"
        " column `REST_BATCH`, key and the `messages[i]` field its `ref` names.",
        "",
        "`deliver_sm` is what our connector answers an operator's deliver_sm (a receipt or"
        " MO) with when core did not store it for that reason: 0x64 (the operator delivers it"
        " again later) when the reason is retryable, else 0x65. `retryable` is also what our"
        " own gRPC clients read to decide whether to try a call again.",
        "",
        "| reason | gRPC code | retryable | HTTP | REST code | HTTP v5 | SMPP command_status"
        " | REST_BATCH | deliver_sm | meaning |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in CATALOGUE.values():
        lines.append(
            f"| `{e.reason}` | {e.grpc_code.name} | {'yes' if e.retryable else 'no'} |"
            f" {e.http_status} | {e.rest_code} | {e.http_v5} | 0x{e.smpp_status:02X} |"
            f" `{e.batch_key}`{' ' + e.batch_field if e.batch_field else ''} |"
            f" 0x{e.deliver_sm:02X} | {e.summary} |"
        )
    lines += [
        "",
        "## Delivery error codes (`errorCode` of a status)",
        "",
        "Rapporto's extended SMS codes (`rest_status.rst`), set by rcs_core:",
        "",
        "| code | name | set when |",
        "|---|---|---|",
        "| 0 | — | delivered, or still in progress |",
        "| 1 | unknown | the operator gave no error, or one we cannot map |",
        "| 2 | absent-subscriber | receipt `err` maps to absent subscriber |",
        "| 7 | timeout | validity period ran out (before sending, or no receipt came) |",
        "| 8 | unknown-subscriber | receipt `err` maps to unknown subscriber |",
        "| 10 | filtered | black list, mailing white list, or advertising refused outside its"
        " allowed hours |",
        "| 11 | unrouted | no direction/interface for the number, or a rule refuses it |",
        "",
        "Receipts from operators carry `err` as our simulator and Rapporto do: the extended"
        " code itself (decimal). Other codes of the table pass through unchanged.",
        "",
        "Push (`rest_status.rst`'s push table), set by rcs_rpns: in ConnectorService's"
        " REJECTED (nobody can get the push) or its UNDELIVERED receipt (every install failed):",
        "",
        "| code | name | set when |",
        "|---|---|---|",
        "| 7 | timeout | the validity ended before the push could be sent |",
        "| 18 | bad-params | unknown serviceNumber (application), no title and no text,"
        " custom payload not JSON, over 4 KB, collapse key over 64 bytes, not a push |",
        "| 19 | consumer-id-not-found | no install of the externalUserId |",
        "| 20 | consumer-phone-not-found | no install of the number |",
        "| 21 | no-primary-devices | primaryOn, and no active install is the primary one |",
        "| 22 | no-active-installations | every install is disabled (unregistered, dead token),"
        " or none uses the providers asked for |",
        "| 23 | push-disabled | the user turned pushes off in the application |",
        "| 24 | push-os-disabled | the OS does not let the application notify |",
        "| 25 | subscription-failed | no install takes the push's subscription |",
        "| 26 | no-application | the push service says the app is gone from every device"
        " (APNs 410 / BadDeviceToken, FCM UNREGISTERED, HMS 80300007 / illegal_tokens,"
        " RuStore 404): those installs are disabled |",
        "| 27 | below-min-version | every install is older than the application's min_version |",
        "| 28 | provider-error | the push service refused (auth, payload) or kept failing"
        " (quota, 5xx) past the retries; tokens are kept |",
        "",
    ]
    return "\n".join(lines)
