from skilld.cli import main

main()
