import Video
import Dream
