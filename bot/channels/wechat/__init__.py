"""The WeChat Official Account (微信公众号) channel; README.md says which file owns what."""
