"""Installation reports (F17): traffic summary, message search, Excel exports."""
