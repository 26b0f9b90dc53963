"""Subscriptions and the scheduled digest: on time, once, within Telegram's limits, across crashes.

schedule (due times), subscriptions (the /subscribe domain), compose (the digest view and
editions), outbox (delivery rows and claims), sender (pacing and Telegram's errors),
leader (PostgreSQL advisory locks), runner (one run), commands (`register(app)`), cli
(`register(subparsers)`). See docs/digest.md.
"""
