"""What an installation publishes for the DWH (issue 20): the captured tables and what each
role captures (``tables``), and the publication and Debezium connector on Kafka Connect
(``publication``). Shared by the cluster agent, which switches capture with the role, and
by rcs_dwh, which reads what is captured; neither imports the other."""
