"""Subcommands of the `netscaler-certsync` CLI; each module has `register(subparsers)`."""
