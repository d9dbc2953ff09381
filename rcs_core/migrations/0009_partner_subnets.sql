-- Per-login IP allowlist (F18, Rapporto's "набор IP-подсетей Партнера"): the subnets a
-- partner may connect from, checked by AuthService for every gateway alike. Empty: any.
ALTER TABLE partners ADD COLUMN allowed_subnets cidr[] NOT NULL DEFAULT '{}';
