-- Windows no check looks at any more: older than the previous one.
DELETE FROM public_check_hits WHERE window_no < $1 - 1
