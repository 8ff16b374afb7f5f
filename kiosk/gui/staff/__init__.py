"""The staff panel shown behind the PIN: sync status, lead list, actions."""
