"""Shared pytest configuration for every tier."""

from __future__ import annotations
