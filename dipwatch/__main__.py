from dipwatch.cli import main

main()
