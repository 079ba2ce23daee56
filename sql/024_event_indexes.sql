-- Every event row maintained three single-column indexes that a composite index already covers.
-- The foreign keys of video_analytics_events are composite, (video_id, creator_id) and so on, so
-- the action of a deleted video, learner or course looks its events up by both columns
-- (DELETE … WHERE video_id = $1 AND creator_id = $2): the indexes that start (creator_id, video_id),
-- (creator_id, student_id) and (creator_id, course_id) answer it as well, for a video with millions
-- of events too. Every query of the app names the workspace first, so none needs them either.
-- Dropping them makes each stored event cheaper (bench ingest). module_id has no composite index:
-- idx_video_analytics_events_module_fk stays.
DROP INDEX chronos.idx_video_analytics_events_video_fk;
DROP INDEX chronos.idx_video_analytics_events_student_id;
DROP INDEX chronos.idx_video_analytics_events_course_fk;
