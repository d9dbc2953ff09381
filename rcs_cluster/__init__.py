"""The cluster agent (F22): one per installation; elects the master in etcd, tells its core
the role (the cluster_role row), and carries the master's settings revisions to a standby."""
