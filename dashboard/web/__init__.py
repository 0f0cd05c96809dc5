"""The web app: boards, push streams, health and metrics (`pingan web`)."""
