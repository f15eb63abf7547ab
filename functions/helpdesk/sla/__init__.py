"""SLA: calendars, working time, policies, timers and escalations."""
