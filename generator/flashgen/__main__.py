from flashgen.cli import main

main(prog_name="flashgen")
