"""Telemetry adapters: OpenTelemetry traces and metrics (`otel`), exported to Azure Monitor (`azure_monitor`).

Importing this package imports nothing of OpenTelemetry; `azure_monitor.from_environment` does, only when telemetry
is configured.
"""
