"""PNS simulator: APNs (HTTP/2 + TLS), FCM, HMS and RuStore on their wire protocols,
playing the devices too."""
