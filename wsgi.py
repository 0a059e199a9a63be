from transfer_gate import create_app

app = create_app()
