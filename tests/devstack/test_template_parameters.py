"""`make run` takes the deployed template's parameters from environment variables."""

from __future__ import annotations

from devstack.local_stack import template_parameters


def test_defaults_name_the_demo_mailbox_and_leave_the_template_defaults():
    mail, parameters = template_parameters({})
    assert mail == {"SupportMailboxes": "support@example.com", "MailboxDepartments": ""}
    assert parameters == mail


def test_rate_limit_and_log_level_reach_the_template():
    _, parameters = template_parameters({"RATE_LIMIT_PER_MINUTE": "1000",
                                         "LOG_LEVEL": "warning",
                                         "SUPPORT_MAILBOXES": "help@shop.example"})
    assert parameters == {"SupportMailboxes": "help@shop.example", "MailboxDepartments": "",
                          "RateLimitPerMinute": "1000", "LogLevel": "WARNING"}
