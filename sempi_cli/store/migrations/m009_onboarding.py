"""Onboarding: modules and delegations per client, invitations of external users."""

SQL = """
"""
