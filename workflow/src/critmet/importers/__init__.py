"""Importers that turn published source files into the project's raw tables."""
