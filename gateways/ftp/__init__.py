"""FTP(S) gateway (issue 18): partners drop mailing and black-list files; reports come back."""
