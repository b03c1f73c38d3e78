"""The products catalog and the services customers have (issue 25): writes in `services`,
reads in `selectors`."""
