from hubctl.cli import app

app()
