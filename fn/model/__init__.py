"""The model behind a small interface: TFLite inference, price ranges, explanations, the card."""
