"""The Python ClientApp of the "custom" variant: the reference the Java ClientApp must match."""

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

from msgapp.custom import answer_action, answer_query

app = ClientApp()


@app.query()
def query(msg: Message, context: Context) -> Message:
    return Message(answer_query(msg.content), reply_to=msg)


@app.train("custom_action")
def custom_action(msg: Message, context: Context) -> Message:
    return Message(answer_action(msg.content), reply_to=msg)
