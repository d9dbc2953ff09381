"""rcs_rpns: the push service — device registry, fan-out to APNs/FCM/HMS/RuStore, receipts."""
