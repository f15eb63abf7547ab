"""Automation rules: `new` (ticket created), `updated` (any change or new post) and
`periodic` (every 30 minutes over recently updated tickets).

- `model`: rules, their conditions (an ALL group and an ANY group) and actions, validated
  when saved.
- `conditions`: what a condition sees (`Facts`) and whether it holds.
- `engine`: rules in order over one ticket; field actions change the ticket as later rules
  see it, the rest become effects (mail, notifications, webhooks) sent after the commit.
- `service`: rules CRUD and order; `runner`: one ticket event or periodic pass end to end.
"""
