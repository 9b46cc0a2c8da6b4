from sempi_cli.cli.fastpath import main

main()
