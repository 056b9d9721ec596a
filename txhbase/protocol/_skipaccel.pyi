from typing import List, Optional, Tuple

def advance(buf: bytearray, pos: int, stack: List[List[int]], pending: Optional[int],
            limit: int, max_depth: int) -> Tuple[int, Optional[int], List[List[int]]]: ...
