"""Helpers the tests share: data paths, fake servers, network guards, the shared real batch."""
