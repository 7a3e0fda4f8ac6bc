"""How long stored strings may be: the columns' sizes, which the collector
checks before anything reaches the database. Plain numbers, so the beacon's
validation needs no SQLAlchemy."""

URL_LEN = 2000
TITLE_LEN = 1024
EVENT_ID_LEN = 64
EMAIL_LEN = 254
UTM_LEN = 200
SELECTOR_LEN = 512
CLICK_TEXT_LEN = 60  # the text a click carried (the snippet sends up to 60)
HEADING_LEN = 200
