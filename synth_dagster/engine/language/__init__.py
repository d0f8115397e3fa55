"""Language models of a table's LANGUAGE_* columns: tokenizer, LSTM, fine-tuned causal LMs."""
