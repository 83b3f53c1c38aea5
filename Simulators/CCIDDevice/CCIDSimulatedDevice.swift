import CCID
