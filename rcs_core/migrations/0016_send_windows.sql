-- Partners' sending windows (scheduleInfo, v5 sending_time), checked by routing whenever a
-- message is about to go: daily [begin, end) in minutes after local midnight, the ISO
-- weekdays as a bit mask (bit 0 Monday; 0 every day), and the UTC offset in minutes, NULL
-- for the subscriber's own zone. window_begin NULL: no window.
ALTER TABLE messages
    ADD COLUMN window_begin smallint CHECK (window_begin BETWEEN 0 AND 1439),
    ADD COLUMN window_end smallint CHECK (window_end BETWEEN 1 AND 1440),
    ADD COLUMN window_days smallint CHECK (window_days BETWEEN 0 AND 127),
    ADD COLUMN window_offset smallint CHECK (window_offset BETWEEN -720 AND 840);
