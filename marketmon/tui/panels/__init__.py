"""The panels of the screen, each drawn from the store on the app's tick:
watchlists, chart and detail, index strip, limit board, ETF premium,
Southbound flow, alert log and status bar."""
