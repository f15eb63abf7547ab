"""Lambda: inbound mail from the SES receipt rule. The rule's S3 action stored the raw MIME at
`<INBOUND_PREFIX><SES message id>` (the Lambda event does not carry the body); this reads it
and hands it to the mail ingest. A failure raises, so SES/Lambda retry: nothing is lost."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger

from helpdesk.aws.container import per_container
from helpdesk.aws.environment import settings_of
from helpdesk.aws.runtime import blobs_from, helpdesk_from, mailboxes_from
from helpdesk.mail.ingest import MailIngest
from ingest_email.settings import Settings

logger = Logger()


@per_container
def ingest_of_mail() -> MailIngest:
    settings = settings_of(Settings)
    helpdesk = helpdesk_from(settings)
    return MailIngest(helpdesk, blobs_from(settings), mailboxes_from(settings),
                      helpdesk.settings.ticket_prefix)




@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ingest = ingest_of_mail()
    prefix = settings_of(Settings).inbound_prefix
    results = []
    for record in event.get("Records") or []:
        ses = record["ses"]
        ses_id = ses["mail"]["messageId"]
        key = prefix + ses_id
        result = ingest.ingest(ingest.blobs.get(key), raw_key=key, ses_message_id=ses_id,
                               recipients=ses["receipt"].get("recipients") or [],
                               envelope_from=ses["mail"].get("source") or "")
        logger.info("mail ingested", extra={"ses_message_id": ses_id, **asdict(result)})
        results.append(asdict(result))
    return {"accepted": len(results), "results": results}
