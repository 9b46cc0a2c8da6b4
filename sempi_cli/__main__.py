from sempi_cli.cli.app import main

main()
