from rcs_cli.main import main

main()
