"""Open Referral HSDS 3.0: the mapping to our model, export, import and the /hsds API."""
